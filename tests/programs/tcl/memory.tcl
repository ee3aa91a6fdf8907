set chunks {}
while 1 {
    lappend chunks [string repeat x [expr {16 << 20}]]
}
