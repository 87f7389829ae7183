// Shell completion scripts generated from the commander tree, so they never drift from the CLI.
import type { Command } from 'commander';

interface Node {
  path: string[];
  subcommands: string[];
  options: string[];
}

function collect(cmd: Command, path: string[] = [], out: Node[] = []): Node[] {
  const visible = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  out.push({
    path,
    subcommands: visible.map((c) => c.name()),
    options: cmd.options
      .flatMap((o) => [o.short, o.long].filter((x): x is string => Boolean(x)))
      .concat('--help'),
  });
  for (const c of visible) collect(c, [...path, c.name()], out);
  return out;
}

export function completionScript(program: Command, shell: string): string {
  const nodes = collect(program);
  const name = program.name();
  if (shell === 'bash') {
    const cases = nodes
      .map((n) => `    "${n.path.join(' ')}") words="${[...n.subcommands, ...n.options].join(' ')}" ;;`)
      .join('\n');
    return `# bash completion for ${name}; load with: source <(${name} completion bash)
_${name}_complete() {
  local cur path="" w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case " $(_${name}_subs "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac
  done
  local words=""
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
_${name}_subs() {
  case "$1" in
${nodes.map((n) => `    "${n.path.join(' ')}") echo "${n.subcommands.join(' ')}" ;;`).join('\n')}
  esac
}
complete -o default -F _${name}_complete ${name}
`;
  }
  if (shell === 'zsh') {
    return `#compdef ${name}
# zsh completion for ${name}; load with: source <(${name} completion zsh)
autoload -U bashcompinit 2>/dev/null && bashcompinit
${completionScript(program, 'bash').split('\n').slice(1).join('\n')}`;
  }
  if (shell === 'fish') {
    const lines = [
      `# fish completion for ${name}; load with: ${name} completion fish | source`,
      `complete -c ${name} -f`,
    ];
    for (const n of nodes) {
      const cond =
        n.path.length === 0
          ? `__fish_use_subcommand`
          : `__fish_seen_subcommand_from ${n.path[n.path.length - 1]}`;
      for (const s of n.subcommands) lines.push(`complete -c ${name} -n '${cond}' -a ${s}`);
      for (const o of n.options) {
        if (o.startsWith('--')) lines.push(`complete -c ${name} -n '${cond}' -l ${o.slice(2)}`);
        else lines.push(`complete -c ${name} -n '${cond}' -s ${o.slice(1)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
  if (shell === 'powershell') {
    const table = nodes
      .map(
        (n) =>
          `    '${n.path.join(' ')}' = @(${[...n.subcommands, ...n.options].map((w) => `'${w}'`).join(', ')})`,
      )
      .join('\n');
    return `# PowerShell completion for ${name}; load with: ${name} completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName '${name}' -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = @{
${table}
  }
  $path = ''
  foreach ($e in $commandAst.CommandElements | Select-Object -Skip 1) {
    $t = $e.ToString()
    if ($t -eq $wordToComplete -or $t.StartsWith('-')) { continue }
    $next = if ($path) { "$path $t" } else { $t }
    if ($words.ContainsKey($next)) { $path = $next }
  }
  $words[$path] | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
  }
}
`;
  }
  throw new Error(`unreachable shell ${shell}`);
}

/** roff escapes: backslashes, and a leading "." or "'" that would start a request. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

/** otpbackup(1) from the commander tree: every command, its arguments and options, and the exit codes. */
export function manPage(program: Command, version: string, exitCodes: [number, string][]): string {
  const name = program.name();
  const out = [
    `.TH ${name.toUpperCase()} 1 "" "${name} ${version}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roff(program.description())}`,
    '.SH SYNOPSIS',
    `.B ${name}`,
    '[\\fIOPTIONS\\fR] \\fICOMMAND\\fR ...',
    '.SH GLOBAL OPTIONS',
  ];
  const options = (c: Command) => {
    for (const o of c.options) {
      out.push('.TP', `.B ${roff(o.flags)}`, roff(o.description));
    }
  };
  options(program);
  out.push('.SH COMMANDS');
  const walk = (c: Command, path: string[]) => {
    for (const sub of c.commands) {
      if ((sub as unknown as { _hidden?: boolean })._hidden) continue;
      const full = [...path, sub.name()];
      const args = sub.registeredArguments
        .map((a) =>
          a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`,
        )
        .join(' ');
      out.push(
        '.SS',
        `${roff(`${name} ${full.join(' ')}${args ? ` ${args}` : ''}`)}`,
        roff(sub.description()),
      );
      if (sub.options.length) {
        out.push('.RS');
        options(sub);
        out.push('.RE');
      }
      walk(sub, full);
    }
  };
  walk(program, []);
  out.push('.SH EXIT STATUS', '.TS', 'l l.');
  for (const [code, what] of exitCodes) out.push(`${code}\t${roff(what)}`);
  out.push('.TE', '.SH SEE ALSO', 'README.md and docs/ in the package; sftp(1), ssh_config(5), crontab(5)');
  return `${out.join('\n')}\n`;
}
