! Copies standard input to standard output line by line; a non-advancing read returns a line
! in pieces of any length (iostat_eor at its end), so long lines and trailing blanks survive.
program echo
    use, intrinsic :: iso_fortran_env, only: input_unit, iostat_end, iostat_eor
    implicit none
    character(len=4096) :: buf
    integer :: ios, n
    do
        read (input_unit, '(a)', advance='no', iostat=ios, size=n) buf
        if (ios == iostat_end) exit
        write (*, '(a)', advance='no') buf(1:n)
        if (ios == iostat_eor) write (*, '(a)')
    end do
end program echo
