; Prints each argument on its own line. At _start, [rsp] is argc and argv[i] is at
; [rsp + 8 + 8*i].
        global  _start

        section .data
nl:     db      10

        section .text
_start: mov     r12, [rsp]              ; argc
        lea     r13, [rsp + 16]         ; &argv[1]
        mov     r14, 1                  ; i
.next:  cmp     r14, r12
        jge     .done
        mov     rsi, [r13]              ; argv[i]
        xor     edx, edx                ; strlen
.len:   cmp     byte [rsi + rdx], 0
        je      .write
        inc     rdx
        jmp     .len
.write: mov     eax, 1
        mov     edi, 1
        syscall
        mov     eax, 1                  ; the newline
        mov     edi, 1
        mov     rsi, nl
        mov     edx, 1
        syscall
        add     r13, 8
        inc     r14
        jmp     .next
.done:  mov     eax, 60
        xor     edi, edi
        syscall
