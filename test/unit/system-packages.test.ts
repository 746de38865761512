import { detectDistro, diagnoseBuildLog, installFix, systemPackagesFix } from '../../lib/system-packages';

const osRelease = {
  debian: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n',
  ubuntu: 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nID_LIKE=debian\n',
  fedora: 'NAME="Fedora Linux"\nPRETTY_NAME="Fedora Linux 41 (Container Image)"\nID=fedora\n',
  rocky: 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
  alpine: 'NAME="Alpine Linux"\nID=alpine\nPRETTY_NAME="Alpine Linux v3.20"\n',
  arch: 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\n',
  tumbleweed: 'NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\nPRETTY_NAME="openSUSE Tumbleweed"\n',
  other: 'NAME="Plan 9"\nID=plan9\n',
};

describe('system packages by distribution', () => {
  test('reads the family and name from /etc/os-release', () => {
    expect(detectDistro(osRelease.debian)).toEqual({ family: 'debian', name: 'Debian GNU/Linux 12 (bookworm)' });
    expect(detectDistro(osRelease.ubuntu).family).toBe('debian');
    expect(detectDistro(osRelease.fedora).family).toBe('fedora');  // ID decides before ID_LIKE
    expect(detectDistro(osRelease.rocky)).toEqual({ family: 'rhel', name: 'Rocky Linux 9.4 (Blue Onyx)' });
    expect(detectDistro(osRelease.alpine).family).toBe('alpine');
    expect(detectDistro(osRelease.arch).family).toBe('arch');
    expect(detectDistro(osRelease.tumbleweed).family).toBe('suse');
    expect(detectDistro(osRelease.other)).toEqual({ family: 'unknown', name: 'Plan 9' });
    expect(detectDistro('')).toEqual({ family: 'unknown', name: 'unknown Linux' });
  });

  test('names each distribution\'s own packages, then the rebuild', () => {
    expect(installFix(detectDistro(osRelease.debian))).toEqual([
      'sudo apt-get install -y g++ make python3 libsuitesparse-dev libopenblas-dev',
      'npm rebuild cfkit',
    ]);
    expect(systemPackagesFix(detectDistro(osRelease.fedora))).toEqual(['sudo dnf install -y gcc-c++ make python3 suitesparse-devel openblas-devel']);
    expect(systemPackagesFix(detectDistro(osRelease.rocky))[0]).toMatch(/epel-release.*crb/);
    expect(systemPackagesFix(detectDistro(osRelease.alpine))).toEqual(['apk add --no-cache build-base python3 suitesparse-dev openblas-dev']);
    expect(installFix(detectDistro(osRelease.other))[0]).toMatch(/C\+\+17 compiler.*SuiteSparse.*OpenBLAS/);
  });

  test('tells build failures apart from the compiler output', () => {
    expect(diagnoseBuildLog('../native/core/sansa/cholmod_util.hpp:4:10: fatal error: cholmod.h: No such file or directory')).toBe(
      "SuiteSparse's headers are missing (cholmod.h)",
    );
    expect(diagnoseBuildLog('/usr/bin/ld: cannot find -lopenblas: No such file or directory')).toBe('OpenBLAS is missing (-lopenblas)');
    expect(diagnoseBuildLog('/usr/bin/ld: cannot find -lcholmod')).toBe("SuiteSparse's libraries are missing (-lcholmod)");
    expect(diagnoseBuildLog('make: /nowhere/g++: No such file or directory')).toBe('the C++ compiler was not found (/nowhere/g++)');
    expect(diagnoseBuildLog('gyp ERR! find Python Python is not set from command line or npm configuration')).toMatch(/Python 3/);
    expect(diagnoseBuildLog('foo.cpp:3:1: error: expected unqualified-id')).toBe('the C++ compiler reported errors');
    expect(diagnoseBuildLog('all good')).toBeUndefined();
  });
});
