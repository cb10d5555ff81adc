// Reading a script's numeric settings from its environment (LOAD_*, STORM_*),
// collecting every problem at once, each saying how to write the setting, so
// a wrong run stops with one list instead of one mistake at a time.

type Env = Record<string, string | undefined>;

export interface NumberRule {
  min: number;
  max: number;
  /** Whether only whole numbers are allowed. */
  whole: boolean;
  /** A value to show in the message, as the user would type it. */
  example: string;
}

export interface SettingsReader {
  /** The variable's value, or `fallback` when it is unset or empty, or (with a problem noted) when it breaks `rule`. */
  number(name: string, fallback: number, rule: NumberRule): number;
  /** Every problem noted so far, in the order the settings were read. */
  readonly problems: string[];
}

/** Reads settings from `env`; `command` (e.g. `npm run load`) ends each problem's example. */
export function settingsReader(env: Env, command: string): SettingsReader {
  const problems: string[] = [];
  return {
    problems,
    number(name, fallback, { min, max, whole, example }) {
      const raw = env[name]?.trim();
      if (!raw) return fallback;
      const value = Number(raw);
      if (!Number.isFinite(value) || value < min || value > max || (whole && !Number.isInteger(value))) {
        problems.push(
          `${name} must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max} (got "${raw.slice(0, 20)}"), e.g. ${name}=${example} ${command}.`,
        );
        return fallback;
      }
      return value;
    },
  };
}
