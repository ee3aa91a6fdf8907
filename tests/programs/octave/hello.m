disp("Hello, World!")
