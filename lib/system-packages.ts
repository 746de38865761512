/**
 * What cfkit needs from the operating system, by distribution: the libraries the addon links
 * (SuiteSparse's CHOLMOD, OpenBLAS) and, to compile it, a C++17 compiler, make and Python 3
 * (node-gyp). Used by the install script, the load error and `cfkit doctor`, so all three give the
 * same fix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type DistroFamily = 'debian' | 'fedora' | 'rhel' | 'alpine' | 'arch' | 'suse' | 'unknown';

export interface Distro {
  family: DistroFamily;
  /** PRETTY_NAME from /etc/os-release, or what is known. */
  name: string;
}

/** Parses /etc/os-release (given as text, or read from the system); unknown when absent. */
export function detectDistro(osRelease?: string): Distro {
  let text = osRelease;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/etc/os-release', 'utf8');
    } catch {
      return { family: 'unknown', name: process.platform };
    }
  }
  const field = (key: string): string => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text!);
    return m ? m[1].trim().replace(/^["']|["']$/g, '') : '';
  };
  const ids = [field('ID'), ...field('ID_LIKE').split(/\s+/)].map((s) => s.toLowerCase()).filter(Boolean);
  const name = field('PRETTY_NAME') || field('NAME') || ids[0] || 'unknown Linux';
  const has = (...names: string[]) => ids.some((id) => names.includes(id));
  // The distribution's own ID decides before ID_LIKE (Fedora is not RHEL; Ubuntu is Debian-like).
  const own = ids[0] ?? '';
  if (own === 'fedora') return { family: 'fedora', name };
  if (has('debian', 'ubuntu')) return { family: 'debian', name };
  if (has('rhel', 'centos', 'rocky', 'almalinux', 'ol', 'fedora')) return { family: 'rhel', name };
  if (has('alpine')) return { family: 'alpine', name };
  if (has('arch', 'manjaro')) return { family: 'arch', name };
  if (has('suse', 'opensuse', 'sles', 'opensuse-leap', 'opensuse-tumbleweed')) return { family: 'suse', name };
  return { family: 'unknown', name };
}

/**
 * The shell commands that install what building and running cfkit needs on this distribution.
 * The Debian line is what CI runs; the others name each distribution's own packages.
 */
export function systemPackagesFix(distro: Distro): string[] {
  switch (distro.family) {
    case 'debian':
      return ['sudo apt-get install -y g++ make python3 libsuitesparse-dev libopenblas-dev'];
    case 'fedora':
      return ['sudo dnf install -y gcc-c++ make python3 suitesparse-devel openblas-devel'];
    case 'rhel':
      // SuiteSparse and OpenBLAS live in EPEL, whose packages need CodeReady Builder (CRB).
      return [
        'sudo dnf install -y epel-release && sudo dnf config-manager --set-enabled crb',
        'sudo dnf install -y gcc-c++ make python3 suitesparse-devel openblas-devel',
      ];
    case 'alpine':
      return ['apk add --no-cache build-base python3 suitesparse-dev openblas-dev'];
    case 'arch':
      return ['sudo pacman -S --needed base-devel python suitesparse openblas'];
    case 'suse':
      return ['sudo zypper install -y gcc-c++ make python3 suitesparse-devel openblas-devel'];
    default:
      return ['install a C++17 compiler, make, Python 3, and the development packages of SuiteSparse (CHOLMOD) and OpenBLAS'];
  }
}

/** The full fix: the distribution's packages, then rebuilding cfkit where it is installed. */
export function installFix(distro: Distro = detectDistro()): string[] {
  return [...systemPackagesFix(distro), 'npm rebuild cfkit'];
}

/** What the install script records when it could not provide a working addon. */
export interface InstallFailure {
  /** One line: what went wrong (e.g. "no C++ compiler found (looked for g++, c++ and $CXX)"). */
  reason: string;
  /** ISO time of the install. */
  time: string;
  platform: string;
  node: string;
  /** The compiler's output, or where it is kept. */
  log?: string;
  logTail?: string[];
}

/** Where the install script keeps its record: the package's own folder, removed once an install works. */
export function installRecordPath(packageRoot: string): string {
  return path.join(packageRoot, 'install-failure.json');
}

export function readInstallFailure(packageRoot: string): InstallFailure | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(installRecordPath(packageRoot), 'utf8')) as InstallFailure;
    return typeof record.reason === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a source build failed, from the compiler's output; undefined when nothing known matches.
 * @internal
 */
export function diagnoseBuildLog(log: string): string | undefined {
  const missingHeader = /fatal error: ([\w./-]+\.h): No such file or directory/.exec(log)?.[1];
  if (missingHeader && /cholmod|colamd|SuiteSparse/i.test(missingHeader)) return `SuiteSparse's headers are missing (${missingHeader})`;
  if (missingHeader && /cblas|lapack|openblas/i.test(missingHeader)) return `OpenBLAS's headers are missing (${missingHeader})`;
  if (missingHeader) return `a header is missing: ${missingHeader}`;
  const lib = /cannot find -l([\w+-]+)/.exec(log)?.[1];
  if (lib && /cholmod|colamd|amd|suitesparse/.test(lib)) return `SuiteSparse's libraries are missing (-l${lib})`;
  if (lib && /blas|lapack/.test(lib)) return `OpenBLAS is missing (-l${lib})`;
  if (lib) return `a library is missing: -l${lib}`;
  if (/find Python|Could not find any Python/i.test(log)) return 'Python 3 was not found (node-gyp needs it)';
  if (/not found: make|make: not found|make: command not found/.test(log)) return 'make was not found';
  const noCompiler = /(?:make: |sh: \d+: |\/bin\/sh: )([\w./+-]*(?:g\+\+|c\+\+|clang\+\+)[\w.-]*): (?:No such file or directory|not found|Command not found)/.exec(log);
  if (noCompiler) return `the C++ compiler was not found (${noCompiler[1]})`;
  if (/error:/.test(log)) return 'the C++ compiler reported errors';
  return undefined;
}
