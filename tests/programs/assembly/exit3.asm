        global  _start

        section .data
msg:    db      "bye", 10

        section .text
_start: mov     eax, 1                  ; write(2, "bye\n", 4)
        mov     edi, 2
        mov     rsi, msg
        mov     edx, 4
        syscall
        mov     eax, 60                 ; exit(3)
        mov     edi, 3
        syscall
