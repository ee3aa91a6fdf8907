function fail(): never {
  throw new Error("something went wrong");
}
fail();
