<?php
fwrite(STDERR, "bye\n");
exit(3);
