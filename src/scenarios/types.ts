/** One `CONFIG_X=value` line of a Kconfig fragment; `value` is as written (`y`, `n`, `m`, `32`, `"str"`). */
export interface KconfigSetting {
  option: string;
  value: string;
  /** Where the line came from, for error messages and the config check (`TREE01:3`, `--kconfig`). */
  origin: string;
}

/** A scenario as its directory describes it: a Kconfig fragment plus optional boot arguments. */
export interface Scenario {
  name: string;
  /** The scenario library directory this scenario came from. */
  dir: string;
  /** Settings applied to the kernel config, in file order. */
  settings: KconfigSetting[];
  /** `#CHECK#CONFIG_X=y` lines: checked against .config after the build, never applied. */
  checks: KconfigSetting[];
  /** Words of NAME.boot, comments dropped, in order. */
  bootArgs: string[];
  /** Config base from a `#BASE#=` line (`tinyconfig`); the run's --defconfig otherwise. */
  base?: string;
}

/** One run of a scenario: repeats of a scenario are distinct instances (`TINY01`, `TINY01.2`, ...). */
export interface ScenarioInstance {
  /** Instance name, also the name of its directory in the run directory. */
  id: string;
  scenario: Scenario;
  /** CPUs the guest wants, as rcutorture computes it. */
  cpus: number;
}
