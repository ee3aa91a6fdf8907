<?php
// PHP names stdin php://stdin: its plain-file wrapper resolves /dev/stdin's symlinks and cannot
// open the pipe that /proc/self/fd/0 points to ("pipe:[...]"), on any host.
echo file_get_contents("php://stdin");
