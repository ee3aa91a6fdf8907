fs = require 'fs'
process.stdout.write fs.readFileSync '/dev/stdin'
