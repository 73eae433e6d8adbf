import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { Department } from '../config/consoleConfig.ts';
import { useConsoleConfig } from '../config/ConfigContext.tsx';

/** A department's name in the console's language: Korean, or English when English is chosen. */
export function departmentLabel(department: Department, language: string): string {
  return language === 'en' ? department.name.en : department.name.ko;
}

/**
 * The hospital's departments as the console shows them, in its current language: the options
 * the desk chooses from (the code is the value), and the name of a visit's department. A visit carries the code; one
 * registered before the departments had codes carries free text, shown as it is.
 */
export function useDepartments(): {
  options: readonly { value: string; label: string }[];
  defaultDepartment: string | null;
  name: (department: string | undefined) => string;
} {
  const { departments, defaultDepartment } = useConsoleConfig();
  const { i18n } = useTranslation();
  const language = i18n.language;
  return useMemo(() => {
    const byCode = new Map(departments.map((department) => [department.code, department]));
    return {
      options: departments.map((department) => ({ value: department.code, label: departmentLabel(department, language) })),
      defaultDepartment,
      name: (department) => {
        if (department === undefined) return '';
        const known = byCode.get(department);
        return known ? departmentLabel(known, language) : department;
      },
    };
  }, [departments, defaultDepartment, language]);
}
