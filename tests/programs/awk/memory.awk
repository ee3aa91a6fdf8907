BEGIN {
    while (1)
        chunks[n++] = sprintf("%16777216d", n)
}
