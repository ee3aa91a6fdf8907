(loop [chunks []]
  (recur (conj chunks (byte-array (* 16 1024 1024)))))
