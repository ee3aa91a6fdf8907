$stdout.binmode
$stdout.write(File.binread("/dev/stdin"))
