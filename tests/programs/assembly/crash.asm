; Says so on stderr, then reads address 0: SIGSEGV.
        global  _start

        section .data
msg:    db      "about to fail", 10
len:    equ     $ - msg

        section .text
_start: mov     eax, 1
        mov     edi, 2
        mov     rsi, msg
        mov     edx, len
        syscall
        mov     rax, [0]
        mov     eax, 60
        xor     edi, edi
        syscall
