BEGIN {
    print "bye" > "/dev/stderr"
    exit 3
}
