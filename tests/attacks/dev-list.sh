# What /dev holds: the sorted names, on one line. Then try to make a device node.
echo $(ls -A /dev | sort)
exec 2>&1
mknod /box/mem c 1 1 && echo "MKNOD WORKED"
ls /sys
