(binding [*out* *err*]
  (println "bye"))
(System/exit 3)
