/**
 * The call's sound: a two-tone chime made with the Web Audio API (no audio file to load or to
 * allow), then the sentence spoken by the browser's speech synthesis in Korean.
 */

/** The chime's two tones (E6, then C6), each this long, the second starting after the first. */
const TONES = [
  { frequency: 1318.5, at: 0 },
  { frequency: 1046.5, at: 0.4 },
] as const;
const TONE_SECONDS = 0.9;
/** How long the chime lasts, after which the speech begins. */
export const CHIME_MS = 1_400;

/** Plays the chime on `context`; resolves when it has sounded (or would have, on a context the browser keeps suspended). */
export function playChime(context: AudioContext): Promise<void> {
  const start = context.currentTime + 0.05;
  for (const tone of TONES) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.value = tone.frequency;
    // A soft attack and a bell's decay: no click at either end.
    gain.gain.setValueAtTime(0.0001, start + tone.at);
    gain.gain.exponentialRampToValueAtTime(0.35, start + tone.at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + tone.at + TONE_SECONDS);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start + tone.at);
    oscillator.stop(start + tone.at + TONE_SECONDS + 0.05);
  }
  return new Promise((resolve) => setTimeout(resolve, CHIME_MS));
}

/**
 * A Korean voice of the browser's, if it has one: the utterance's `lang` alone lets some browsers
 * read Korean with an English voice. The list fills in after the page loads (`voiceschanged`);
 * asking for it once early (warmUpVoices) starts that.
 */
function koreanVoice(synthesis: SpeechSynthesis): SpeechSynthesisVoice | undefined {
  const voices = synthesis.getVoices();
  const korean = voices.filter((voice) => voice.lang.replace('_', '-').toLowerCase().startsWith('ko'));
  return korean.find((voice) => voice.localService) ?? korean[0];
}

export function warmUpVoices(): void {
  globalThis.speechSynthesis?.getVoices();
}

/** A speech engine that never ends an utterance must not hold back the calls after it. */
const SPEECH_LIMIT_MS = 15_000;

/**
 * Says `text` in Korean. Resolves 'spoken' when done (or given up on), 'blocked' when the browser
 * refused to speak (no user gesture yet on this page), 'unavailable' without speech synthesis.
 */
export function speakKorean(text: string): Promise<'spoken' | 'blocked' | 'unavailable'> {
  const synthesis = globalThis.speechSynthesis;
  if (!synthesis || typeof SpeechSynthesisUtterance === 'undefined') return Promise.resolve('unavailable');
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = 'ko-KR';
  const voice = koreanVoice(synthesis);
  if (voice) utterance.voice = voice;
  // A little slower than conversation: it is heard across a room.
  utterance.rate = 0.9;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('spoken'), SPEECH_LIMIT_MS);
    const finish = (outcome: 'spoken' | 'blocked') => {
      clearTimeout(timer);
      resolve(outcome);
    };
    utterance.onend = () => finish('spoken');
    utterance.onerror = (event) => finish(event.error === 'not-allowed' ? 'blocked' : 'spoken');
    synthesis.speak(utterance);
  });
}
