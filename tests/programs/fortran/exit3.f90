program exit3
    use, intrinsic :: iso_fortran_env, only: error_unit
    implicit none
    write (error_unit, '(a)') 'bye'
    stop 3, quiet=.true.
end program exit3
