puts stderr bye
exit 3
