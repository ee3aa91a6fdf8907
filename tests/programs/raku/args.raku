.say for @*ARGS;
