! An unchecked read of a bad integer: the Fortran runtime reports it and exits nonzero.
program crash
    implicit none
    character(len=8) :: s = 'abc'
    integer :: i
    read (s, *) i
    print *, i
end program crash
