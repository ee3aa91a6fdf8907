; x86-64 Linux, system calls only: write(1, msg, len), then exit(0).
        global  _start

        section .data
msg:    db      "Hello, World!", 10
len:    equ     $ - msg

        section .text
_start: mov     eax, 1                  ; write
        mov     edi, 1                  ; stdout
        mov     rsi, msg
        mov     edx, len
        syscall
        mov     eax, 60                 ; exit
        xor     edi, edi
        syscall
