# SPDX-License-Identifier: MIT
# The plot of bench/peers.sh's results (peers.dat). Run in the results
# directory: gnuplot <repository>/bench/peers.gp
set terminal pngcairo size 1100,520 font ",9"
set output "peers.png"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y 10
set grid ytics
set xtics rotate by -30 left
set key top left horizontal maxcols 2 font ",8"
set bmargin 9
set multiplot layout 1,2 title "3 replicas on one 2-vCPU machine, 16-byte writes, closed loop (medians of the rounds)"
set ylabel "commits/s"
set yrange [100:5e6]
set format y "%.0s%c"
plot "peers.dat" using 2:xtic(1) title "window 1", "" using 3 title "window 128"
set ylabel "commit latency (us)"
set yrange [1:1e6]
set format y "%g"
plot "peers.dat" using 4:xtic(1) title "p50, window 1", "" using 5 title "p50, window 128", \
     "" using 6 title "p99, window 1", "" using 7 title "p99, window 128"
unset multiplot
