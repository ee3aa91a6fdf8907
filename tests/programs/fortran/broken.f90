program broken
    implicit none
    integer :: x
    x = 'not a number'
    print *, x
end program broken
