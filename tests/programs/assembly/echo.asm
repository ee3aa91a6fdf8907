; Copies standard input to standard output: read(0, buf, 64 KiB) and write what came, until
; read returns 0 (end of input) or an error.
        global  _start

        section .bss
buf:    resb    65536

        section .text
_start:
.read:  xor     eax, eax                ; read
        xor     edi, edi                ; stdin
        mov     rsi, buf
        mov     edx, 65536
        syscall
        test    rax, rax
        jle     .done
        mov     rdx, rax                ; count
        mov     eax, 1                  ; write
        mov     edi, 1                  ; stdout
        mov     rsi, buf
        syscall
        jmp     .read
.done:  mov     eax, 60                 ; exit(0)
        xor     edi, edi
        syscall
