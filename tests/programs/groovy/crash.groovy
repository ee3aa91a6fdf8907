int[] a = new int[2]
println a[args.length + 5]
