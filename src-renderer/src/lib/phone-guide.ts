/**
 * The steps to get an Android phone attached over ADB, and which one the user is at, read from the
 * live state (ADB server, phones and their states). Pure, so it is unit-tested (test/phone-guide.test.ts).
 */
import type { AdbStatus } from '../../../src-shared/types';

export interface GuideStep {
  id: 'adb' | 'developer' | 'usb-debugging' | 'cable' | 'authorize' | 'wireless';
  title: string;
  body: string;
  command?: string;
}

export const guideSteps: GuideStep[] = [
  { id: 'adb', title: 'ADB on this computer', body: 'PocketBench talks to phones through the Android Debug Bridge (adb). Install Android’s platform-tools (Debian/Ubuntu: the adb package) and PocketBench starts its server.', command: 'sudo apt-get install adb' },
  { id: 'developer', title: 'Turn on Developer options', body: 'On the phone: Settings › About phone › tap “Build number” seven times (on some phones it is under Software information). A message says you are now a developer.' },
  { id: 'usb-debugging', title: 'Turn on USB debugging', body: 'Settings › System › Developer options › USB debugging: on. On Xiaomi phones also turn on “USB debugging (Security settings)”.' },
  { id: 'cable', title: 'Plug it in with a data cable', body: 'Use a cable that carries data (many charging cables do not) and a port on the computer itself, not a hub. On Windows install the phone maker’s USB driver. Set the USB mode to “File transfer” if the phone asks.' },
  { id: 'authorize', title: 'Authorize this computer', body: 'The phone shows “Allow USB debugging?” with this computer’s key fingerprint: tick “Always allow from this computer” and tap Allow. If no prompt appears, unplug and plug in again, or revoke USB debugging authorizations in Developer options and retry.' },
  { id: 'wireless', title: 'Or without a cable (Android 11 and later)', body: 'Developer options › Wireless debugging: on › “Pair device with pairing code”. Pair from a terminal with the address and code the phone shows, then connect below with the address shown under “IP address & Port”.', command: 'adb pair 192.168.1.20:37099 123456' },
];

export interface GuideState {
  /** The step the user is at, or null when a phone is ready. */
  current: GuideStep['id'] | null;
  /** What the live state says, in words. */
  message: string;
}

export function guideState(adb: AdbStatus | undefined, phones: readonly { state: string; label: string }[]): GuideState {
  if (!adb || adb.state === 'missing') return { current: 'adb', message: adb?.message ?? 'adb was not found on this computer.' };
  if (adb.state === 'not-running' || adb.state === 'error') return { current: 'adb', message: adb.message ?? 'The ADB server is not running; PocketBench starts it when adb is installed.' };
  const ready = phones.find((p) => p.state === 'device' || p.state === 'ready');
  if (ready) return { current: null, message: `${ready.label} is ready.` };
  const waiting = phones.find((p) => p.state === 'unauthorized' || p.state === 'authorizing');
  if (waiting) return { current: 'authorize', message: `${waiting.label} is attached but this computer is not authorized yet: look at the phone’s screen.` };
  const offline = phones.find((p) => p.state === 'offline' || p.state === 'connecting');
  if (offline) return { current: 'cable', message: `${offline.label} is ${offline.state}: unplug it and plug it in again, or try another cable or port.` };
  return { current: 'developer', message: 'ADB is running but sees no phone yet. Follow the steps from the first one not done.' };
}
