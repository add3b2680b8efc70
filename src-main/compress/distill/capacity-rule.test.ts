import { describe, expect, it } from 'vitest';
import { capacityWarning, MIN_RATIO } from './capacity-rule';

const cmp = (student: number, teacher: number, macsRatio = student / teacher) => ({
  teacher: { params: teacher, macs: 1000 },
  student: { params: student, macs: 1000 * macsRatio },
  paramsRatio: student / teacher,
  macsRatio,
});

describe('capacity rule', () => {
  it('accepts the reference student (about 1/16 of the teacher)', () => {
    expect(capacityWarning(cmp(14_410, 225_034))).toBeNull();
  });
  it('warns below 1/50 of the parameters or of the compute, and names the ratio', () => {
    expect(capacityWarning(cmp(3_000, 225_034))).toMatch(/about 1\/75 of the teacher's size.*wider student/);
    expect(capacityWarning(cmp(20_000, 225_034, MIN_RATIO / 2))).toMatch(/1\/100/);
  });
  it('warns when the student is not smaller', () => {
    expect(capacityWarning(cmp(300_000, 225_034))).toMatch(/will not make the model smaller/);
  });
});
