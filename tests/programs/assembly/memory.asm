; Maps 16 MiB of anonymous memory at a time and touches every page of it, forever.
        global  _start

        section .text
_start:
.map:   mov     eax, 9                  ; mmap(NULL, 16 MiB, PROT_READ|PROT_WRITE,
        xor     edi, edi                ;      MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
        mov     esi, 16 << 20
        mov     edx, 3
        mov     r10d, 0x22
        mov     r8, -1
        xor     r9d, r9d
        syscall
        cmp     rax, -4095
        jae     .fail
        mov     rcx, 16 << 20
.touch: sub     rcx, 4096
        mov     byte [rax + rcx], 1
        jnz     .touch
        jmp     .map
.fail:  mov     eax, 60
        mov     edi, 1
        syscall
