BEGIN {
    while ((getline line < "/dev/stdin") > 0)
        print line
}
