my @chunks;
loop {
    my int @chunk;
    @chunk[2 * 1024 * 1024] = 1;
    @chunks.push: @chunk;
}
