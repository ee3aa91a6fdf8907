proc divide {a b} {
    return [expr {$a / $b}]
}
puts [divide 1 0]
