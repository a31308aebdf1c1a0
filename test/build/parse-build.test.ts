import { describe, expect, it } from 'vitest';
import { judgeBuild, MAX_QUOTED, pickBuildProblems } from '../../src/build/parse-build.js';

const COMPILE_ERROR = `  CC      kernel/rcu/update.o
kernel/rcu/update.c: In function 'foo':
kernel/rcu/update.c:10:5: error: 'bar' undeclared (first use in this function)
make[3]: *** [scripts/Makefile.build:250: kernel/rcu/update.o] Error 1
make[2]: *** [scripts/Makefile.build:500: kernel/rcu] Error 2
make[1]: Leaving directory '/tmp/o'
make: *** [Makefile:250: __sub-make] Error 2
`;

const RECIPE_ERROR = `  UPD     include/generated/uapi/linux/version.h
"6.1.192-aaaa" exceeds 64 characters
make[1]: *** [/src/Makefile:1401: include/generated/utsrelease.h] Error 1
make[1]: *** Waiting for unfinished jobs....
  HOSTLD  arch/x86/tools/relocs
make[1]: Leaving directory '/tmp/o'
make: *** [Makefile:250: __sub-make] Error 2
`;

describe('pickBuildProblems', () => {
  it('picks compiler errors and make error lines, not progress or directory chatter', () => {
    const p = pickBuildProblems(COMPILE_ERROR);
    expect(p.errors).toEqual([
      "kernel/rcu/update.c:10:5: error: 'bar' undeclared (first use in this function)",
      'make[3]: *** [scripts/Makefile.build:250: kernel/rcu/update.o] Error 1',
      'make[2]: *** [scripts/Makefile.build:500: kernel/rcu] Error 2',
      'make: *** [Makefile:250: __sub-make] Error 2',
    ]);
  });

  it('keeps the line that explains a make error no compiler message explains', () => {
    const p = pickBuildProblems(RECIPE_ERROR);
    expect(p.errors[0]).toBe('"6.1.192-aaaa" exceeds 64 characters');
    expect(p.errors).not.toContain("make[1]: Leaving directory '/tmp/o'");
    expect(p.errors.some((l) => l.includes('HOSTLD'))).toBe(false);
  });

  it('counts warnings and singles out RCU ones and the first undefined reference, as parse-build.sh does', () => {
    const p = pickBuildProblems(
      [
        'drivers/foo.c:1:1: warning: unused variable',
        'include/linux/rcupdate.h:3:3: warning: shadowed',
        'kernel/rcu/tree.c:9:9: warning: unused',
        'ld: a.o: warning: undefined reference to `x`',
        'ld: b.o: warning: undefined reference to `y`',
      ].join('\n'),
    );
    expect(p.warningCount).toBe(5);
    expect(p.rcuWarnings).toEqual([
      'include/linux/rcupdate.h:3:3: warning: shadowed',
      'kernel/rcu/tree.c:9:9: warning: unused',
      'ld: a.o: warning: undefined reference to `x`',
    ]);
  });

  it('fails on "Stop." lines', () => {
    const p = pickBuildProblems("make[1]: *** No rule to make target 'x'.  Stop.\n");
    expect(p.errors).toHaveLength(1);
  });
});

describe('judgeBuild', () => {
  it('fails on a bad exit, on error lines with exit 0, and on RCU warnings', () => {
    const clean = pickBuildProblems('  CC init/main.o\n  LD vmlinux\n');
    expect(judgeBuild(0, clean)).toEqual({ failed: false, quoted: [] });
    expect(judgeBuild(2, clean).failed).toBe(true);
    expect(judgeBuild(0, pickBuildProblems(COMPILE_ERROR)).failed).toBe(true);
    expect(judgeBuild(0, pickBuildProblems('kernel/rcu/tree.c:1:1: warning: x\n')).failed).toBe(true);
    expect(judgeBuild(0, pickBuildProblems('drivers/x.c:1:1: warning: x\n')).failed).toBe(false);
  });

  it(`quotes at most ${MAX_QUOTED} lines`, () => {
    const many = Array.from({ length: 50 }, (_, i) => `f${i}.c:1:1: error: bad`).join('\n');
    expect(judgeBuild(2, pickBuildProblems(many)).quoted).toHaveLength(MAX_QUOTED);
  });
});

describe('pickBuildProblems with -j output', () => {
  it('finds the explaining line past other jobs\' progress lines', () => {
    const p = pickBuildProblems(
      [
        '"6.1.0-x" exceeds 64 characters',
        '  HOSTCC  scripts/a.o',
        '  HOSTLD  arch/x86/tools/relocs',
        'make[1]: *** [/src/Makefile:1401: include/generated/utsrelease.h] Error 1',
      ].join('\n'),
    );
    expect(p.errors[0]).toBe('"6.1.0-x" exceeds 64 characters');
  });
});
