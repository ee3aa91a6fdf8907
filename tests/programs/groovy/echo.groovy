print System.in.text
