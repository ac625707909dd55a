/**
 * What the Pantahub registry draws at random: human-typable nicks in the
 * seed's `adverb_adjective_animal` style and claim challenges (from `crypto`;
 * a challenge is three words and a five-letter tail, 3×5 + 25 = 40 bits), and
 * the form of its ids (devices' and factory tokens' alike).
 */
import { randomInt } from 'node:crypto';

/** A device's or a factory token's id: 24 lowercase hex. */
export const PANTAHUB_ID = /^[0-9a-f]{24}$/;
/** Draws of a nick or an id before giving up on finding an unused one. */
export const MAX_DRAWS = 16;

const ADVERBS = ['likely', 'duly', 'properly', 'truly', 'vigorously', 'trivially', 'privately', 'informally', 'entirely', 'correctly', 'gladly', 'quietly', 'boldly', 'freely', 'mostly', 'nearly', 'openly', 'rarely', 'simply', 'warmly', 'wisely', 'kindly', 'fairly', 'firmly', 'neatly', 'purely', 'calmly', 'deeply', 'early', 'gently', 'lately', 'really'];
const ADJECTIVES = ['creative', 'helped', 'proper', 'immortal', 'desired', 'composed', 'wanted', 'noted', 'master', 'correct', 'trusted', 'fit', 'literate', 'singular', 'brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'lucky', 'merry', 'nice', 'polite', 'quick', 'rapid', 'smart', 'tidy', 'vast', 'witty', 'young'];
const ANIMALS = ['troll', 'bat', 'sponge', 'worm', 'stud', 'pheasant', 'krill', 'flea', 'werewolf', 'quail', 'dingo', 'badger', 'camel', 'insect', 'otter', 'heron', 'lynx', 'moose', 'newt', 'owl', 'panda', 'raven', 'seal', 'tapir', 'viper', 'walrus', 'yak', 'zebra', 'gecko', 'ibis', 'koala', 'lemur'];
const TAIL = 'abcdefghijkmnpqrstuvwxyz23456789';

const pick = (words: readonly string[]) => words[randomInt(words.length)]!;

export function newNick(): string {
  return `${pick(ADVERBS)}_${pick(ADJECTIVES)}_${pick(ANIMALS)}`;
}

export function newChallenge(): string {
  let tail = '';
  for (let i = 0; i < 5; i++) tail += TAIL[randomInt(TAIL.length)];
  return `${pick(ADVERBS)}-${pick(ADJECTIVES)}-${pick(ANIMALS)}-${tail}`;
}
