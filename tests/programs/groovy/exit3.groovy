System.err.println "bye"
System.exit(3)
