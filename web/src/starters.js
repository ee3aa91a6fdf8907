// A hello-world per language, for a fresh playground.
const HELLO = {
  python: 'name = "world"\nprint(f"Hello, {name}!")\n',
  javascript: 'const name = "world";\nconsole.log(`Hello, ${name}!`);\n',
  typescript: 'const name: string = "world";\nconsole.log(`Hello, ${name}!`);\n',
  bash: '#!/usr/bin/env bash\nname="world"\necho "Hello, $name!"\n',
  c: '#include <stdio.h>\n\nint main(void)\n{\n    printf("Hello, world!\\n");\n    return 0;\n}\n',
  cpp: '#include <iostream>\n\nint main()\n{\n    std::cout << "Hello, world!" << std::endl;\n    return 0;\n}\n',
  go: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, world!")\n}\n',
  java: 'public class Main {\n    public static void main(String[] args) {\n        System.out.println("Hello, world!");\n    }\n}\n',
  rust: 'fn main() {\n    println!("Hello, world!");\n}\n',
};

export function starterFiles(language) {
  if (!language) return [{ name: "main.txt", content: "" }];
  const name = language.source_file || `main.${(language.extensions || ["txt"])[0].replace(/^\./, "")}`;
  // A version (python@3.13, c@clang) starts from its language's hello world.
  const base = language.base || String(language.name).split("@")[0];
  return [{ name, content: HELLO[language.name] || HELLO[base] || "" }];
}
