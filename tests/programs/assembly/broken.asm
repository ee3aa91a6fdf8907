        global  _start

        section .text
_start: mov     eax, 60
        movv    edi, 0
        syscall
