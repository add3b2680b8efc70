/** Only this area's real stage runners (train-teacher, load-teacher), for pipeline tests: other kinds stay unregistered. */
export { stages } from '../../src-main/compress/train/stages';
