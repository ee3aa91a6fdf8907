; Opens /dev/stdin by name and copies it to standard output.
        global  _start

        section .data
path:   db      "/dev/stdin", 0

        section .bss
buf:    resb    65536

        section .text
_start: mov     eax, 2                  ; open(path, O_RDONLY)
        mov     rdi, path
        xor     esi, esi
        syscall
        test    rax, rax
        js      .fail
        mov     r12, rax                ; the descriptor
.read:  xor     eax, eax                ; read
        mov     rdi, r12
        mov     rsi, buf
        mov     edx, 65536
        syscall
        test    rax, rax
        jle     .done
        mov     rdx, rax
        mov     eax, 1                  ; write
        mov     edi, 1
        mov     rsi, buf
        syscall
        jmp     .read
.done:  mov     eax, 60
        xor     edi, edi
        syscall
.fail:  mov     eax, 60
        mov     edi, 1
        syscall
