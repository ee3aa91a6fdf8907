fid = fopen("/dev/stdin", "r");
data = fread(fid, Inf, "*uint8");
fclose(fid);
fwrite(stdout, data);
