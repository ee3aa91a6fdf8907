! Keeps allocating 16 MiB blocks and touching them, holding on to every one (a linked list).
program memory
    implicit none
    type node
        integer(1), allocatable :: b(:)
        type(node), pointer :: next => null()
    end type node
    type(node), pointer :: head => null(), p
    do
        allocate (p)
        allocate (p%b(16 * 1024 * 1024))
        p%b = 1_1
        p%next => head
        head => p
    end do
end program memory
