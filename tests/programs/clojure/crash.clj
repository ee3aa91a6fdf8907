(defn divide [a b]
  (/ a b))

(println (divide 1 0))
