! Reads /dev/stdin as a named file, line by line.
program devstdin
    use, intrinsic :: iso_fortran_env, only: iostat_end, iostat_eor
    implicit none
    character(len=4096) :: buf
    integer :: ios, n, u
    open (newunit=u, file='/dev/stdin', action='read', status='old')
    do
        read (u, '(a)', advance='no', iostat=ios, size=n) buf
        if (ios == iostat_end) exit
        write (*, '(a)', advance='no') buf(1:n)
        if (ios == iostat_eor) write (*, '(a)')
    end do
    close (u)
end program devstdin
