console.error "bye"
process.exit 3
