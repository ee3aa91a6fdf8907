warn "bye"
exit 3
