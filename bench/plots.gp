# SPDX-License-Identifier: MIT
# Plots of bench/run.sh's results. Run in the results directory:
#   gnuplot -e "floor_us=0.21" <repository>/bench/plots.gp
set terminal pngcairo size 1000,420 font ",10"
set datafile separator ","
set datafile columnheaders
set key top left
set grid
set logscale x 2
is(s) = strcol("sweep") eq s

set output "window.png"
set multiplot layout 1,2 title "3 replicas, one process, net\\_ring; closed loop, writes only"
set xlabel "outstanding commands per writer (window)"
set ylabel "commits/s"
set format y "%.0s%c"
set yrange [0:*]
plot "e2e.csv" using (is("window") && column("batch") == 1 ? column("window") : NaN):(column("ops_per_s")) with linespoints title "batch 1", \
     "" using (is("window") && column("batch") != 1 ? column("window") : NaN):(column("ops_per_s")) with linespoints title "batched"
set ylabel "latency (us)"
set logscale y 10
set format y "%g"
set yrange [*:*]
plot "e2e.csv" using (is("window") && column("batch") == 1 ? column("window") : NaN):(column("p50_us")) with linespoints title "p50, batch 1", \
     "" using (is("window") && column("batch") == 1 ? column("window") : NaN):(column("p99_us")) with linespoints title "p99, batch 1", \
     "" using (is("window") && column("batch") != 1 ? column("window") : NaN):(column("p50_us")) with linespoints title "p50, batched", \
     "" using (is("window") && column("batch") != 1 ? column("window") : NaN):(column("p99_us")) with linespoints title "p99, batched", \
     floor_us with lines dashtype 2 title "floor: raw round trip p50"
unset multiplot
unset logscale y

set output "loss.png"
set multiplot layout 1,2 title "packet loss on every replica's send and receive"
unset logscale x
set xlabel "loss (%)"
set ylabel "commits/s"
set format y "%.0s%c"
set yrange [0:*]
plot "e2e.csv" using (is("loss") && column("window") == 1 ? 100 * column("loss") : NaN):(column("ops_per_s")) with linespoints title "window 1", \
     "" using (is("loss") && column("window") == 64 ? 100 * column("loss") : NaN):(column("ops_per_s")) with linespoints title "window 64"
set ylabel "latency (us)"
set logscale y 10
set format y "%g"
set yrange [*:*]
plot "e2e.csv" using (is("loss") && column("window") == 1 ? 100 * column("loss") : NaN):(column("p99_us")) with linespoints title "p99, window 1", \
     "" using (is("loss") && column("window") == 64 ? 100 * column("loss") : NaN):(column("p99_us")) with linespoints title "p99, window 64", \
     "" using (is("loss") && column("window") == 1 ? 100 * column("loss") : NaN):(column("p50_us")) with linespoints title "p50, window 1", \
     "" using (is("loss") && column("window") == 64 ? 100 * column("loss") : NaN):(column("p50_us")) with linespoints title "p50, window 64"
unset multiplot
unset logscale y

set output "reads.png"
set datafile separator whitespace
set datafile nocolumnheaders
set multiplot layout 1,2 title "read modes, window 64"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xlabel "read mode"
set ylabel "reads/s"
set format y "%.0s%c"
set yrange [0:*]
plot "reads.dat" using 2:xtic(1) title "50% reads", "" using 3 title "95% reads"
set ylabel "read p50 (us)"
set format y "%g"
plot "reads.dat" using 4:xtic(1) title "50% reads", "" using 5 title "95% reads"
unset multiplot
